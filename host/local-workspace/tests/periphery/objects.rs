//! Workspace objects and files: both path spellings, import formats, the atomic
//! create-if-absent race, export, delete, the files API and persistence.

use base64::Engine as _;
use local_workspace::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{default_ws, send, start};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn unb64(value: &Value) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.as_str().unwrap_or_default())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn root_folders_exist_under_both_spellings() {
    let ws = default_ws().await;
    for path in ["/", "/Users", "/Users/brickship@localhost", "/Shared"] {
        let (status, info) = ws.status_of(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {info}");
        assert_eq!(info["object_type"], "DIRECTORY");
        assert_eq!(info["path"], path);
        assert!(info["object_id"].as_i64().unwrap() > 0);
    }
    let (_, plain) = ws.status_of("/Shared").await;
    let (status, prefixed) = ws.status_of("/Workspace/Shared").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(prefixed["object_id"], plain["object_id"]);
    assert_eq!(
        prefixed["path"], "/Shared",
        "responses use the canonical spelling"
    );

    let (status, listing) = ws.get("/api/2.0/workspace/list?path=/Workspace").await;
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&str> = listing["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["/Shared", "/Users"]);

    let (status, err) = ws.status_of("/Shared/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(err["message"], "Path (/Shared/nope) doesn't exist.");
    let (_, err) = ws.status_of("/Workspace/Shared/nope").await;
    assert_eq!(
        err["message"], "Path (/Workspace/Shared/nope) doesn't exist.",
        "errors echo the client's spelling"
    );
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn mkdirs_list_and_delete() {
    let ws = default_ws().await;
    let (status, body) = ws
        .post(
            "/api/2.0/workspace/mkdirs",
            json!({"path": "/Workspace/Shared/a/b/c"}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, _) = ws
        .post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/a/b/c"}))
        .await;
    assert_eq!(status, StatusCode::OK, "mkdirs is idempotent");
    for dir in ["/Shared/a", "/Shared/a/b", "/Shared/a/b/c"] {
        assert_eq!(ws.status_of(dir).await.1["object_type"], "DIRECTORY", "{dir}");
    }
    let (status, empty) = ws.get("/api/2.0/workspace/list?path=/Shared/a/b/c").await;
    assert_eq!(
        (status, empty),
        (StatusCode::OK, json!({})),
        "an empty folder lists as {{}}"
    );
    let (status, err) = ws.get("/api/2.0/workspace/list?path=/Shared/zzz").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error_code"], "RESOURCE_DOES_NOT_EXIST");

    assert_eq!(
        ws.import("/Shared/a/f.txt", "RAW", "x", false).await.0,
        StatusCode::OK
    );
    let (status, err) = ws
        .post(
            "/api/2.0/workspace/mkdirs",
            json!({"path": "/Shared/a/f.txt/sub"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error_code"], "RESOURCE_ALREADY_EXISTS");
    assert_eq!(ws.status_of("/Shared/a/f.txt/sub").await.0, StatusCode::NOT_FOUND);

    let (_, listing) = ws.get("/api/2.0/workspace/list?path=/Shared/a").await;
    let objects = listing["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["path"], "/Shared/a/b");
    assert_eq!(objects[1]["path"], "/Shared/a/f.txt");
    assert_eq!(objects[1]["object_type"], "FILE");
    assert_eq!(objects[1]["size"], 1);
    let (_, of_file) = ws.get("/api/2.0/workspace/list?path=/Shared/a/f.txt").await;
    assert_eq!(
        of_file["objects"][0]["path"], "/Shared/a/f.txt",
        "listing a file lists the file"
    );

    let (status, err) = ws
        .post("/api/2.0/workspace/delete", json!({"path": "/Shared/a"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_code"], "DIRECTORY_NOT_EMPTY");
    assert_eq!(
        ws.status_of("/Shared/a/f.txt").await.0,
        StatusCode::OK,
        "a refused delete deletes nothing"
    );
    let (status, _) = ws
        .post(
            "/api/2.0/workspace/delete",
            json!({"path": "/Workspace/Shared/a", "recursive": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for gone in ["/Shared/a", "/Shared/a/b/c", "/Shared/a/f.txt"] {
        assert_eq!(ws.status_of(gone).await.0, StatusCode::NOT_FOUND, "{gone}");
    }
    let (status, err) = ws
        .post("/api/2.0/workspace/delete", json!({"path": "/Shared/a"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error_code"], "RESOURCE_DOES_NOT_EXIST");
    let (status, _) = ws
        .post(
            "/api/2.0/workspace/delete",
            json!({"path": "/Shared", "recursive": true}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "system folders cannot be deleted");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn import_formats_and_export() {
    let ws = default_ws().await;
    // SOURCE needs a language and keeps the name.
    let (status, err) = ws.import("/Shared/nb", "SOURCE", "print(1)", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_code"], "INVALID_PARAMETER_VALUE");
    let body =
        json!({"path": "/Shared/nb", "format": "SOURCE", "language": "PYTHON", "content": b64("print(1)")});
    assert_eq!(ws.post("/api/2.0/workspace/import", body).await.0, StatusCode::OK);
    let (_, info) = ws.status_of("/Shared/nb").await;
    assert_eq!(
        (info["object_type"].clone(), info["language"].clone()),
        (json!("NOTEBOOK"), json!("PYTHON"))
    );

    // AUTO: a notebook header on a notebook extension makes a notebook without the extension.
    let source = "# Databricks notebook source\nprint(2)\n";
    assert_eq!(
        ws.import("/Workspace/Shared/etl.py", "AUTO", source, false)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(ws.status_of("/Shared/etl").await.1["object_type"], "NOTEBOOK");
    assert_eq!(ws.status_of("/Shared/etl.py").await.0, StatusCode::NOT_FOUND);
    // AUTO without the header, and RAW, make files under their own name.
    assert_eq!(
        ws.import("/Shared/lib.py", "AUTO", "x = 1\n", false).await.0,
        StatusCode::OK
    );
    assert_eq!(ws.status_of("/Shared/lib.py").await.1["object_type"], "FILE");
    assert_eq!(
        ws.import("/Shared/data.json", "RAW", "{}", false).await.0,
        StatusCode::OK
    );
    assert_eq!(ws.status_of("/Shared/data.json").await.1["size"], 2);

    // Export as JSON (base64) and as a direct download.
    let (status, exported) = ws
        .get("/api/2.0/workspace/export?path=/Shared/etl&format=SOURCE")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unb64(&exported["content"]), source);
    assert_eq!(exported["file_type"], "py");
    let (_, exported) = ws.get("/api/2.0/workspace/export?path=/Shared/nb").await;
    assert_eq!(
        unb64(&exported["content"]),
        "# Databricks notebook source\nprint(1)",
        "source export carries the header"
    );
    let raw = ws
        .req(
            Method::GET,
            "/api/2.0/workspace/export?path=/Workspace/Shared/lib.py&direct_download=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"x = 1\n");
    let (status, err) = ws.get("/api/2.0/workspace/export?path=/Shared/missing").await;
    assert_eq!(
        (status, err["error_code"].clone()),
        (StatusCode::NOT_FOUND, json!("RESOURCE_DOES_NOT_EXIST"))
    );

    // Existing path without overwrite: refused, content untouched; with overwrite: replaced.
    let (status, err) = ws.import("/Shared/lib.py", "AUTO", "x = 2\n", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error_code"], "RESOURCE_ALREADY_EXISTS");
    assert_eq!(err["message"], "Path (/Shared/lib.py) already exists.");
    let id_before = ws.status_of("/Shared/lib.py").await.1["object_id"].clone();
    assert_eq!(
        ws.import("/Shared/lib.py", "AUTO", "x = 3\n", true).await.0,
        StatusCode::OK
    );
    let (_, exported) = ws.get("/api/2.0/workspace/export?path=/Shared/lib.py").await;
    assert_eq!(unb64(&exported["content"]), "x = 3\n");
    assert_eq!(
        ws.status_of("/Shared/lib.py").await.1["object_id"],
        id_before,
        "overwrite keeps the object id"
    );

    // A missing parent folder is not created.
    let (status, err) = ws.import("/Shared/no/such/dir/f.txt", "RAW", "x", false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        err["message"],
        "The parent folder (/Shared/no/such/dir) does not exist."
    );
    assert_eq!(ws.status_of("/Shared/no").await.0, StatusCode::NOT_FOUND);
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn multipart_import_as_the_python_sdk_sends_it() {
    let ws = default_ws().await;
    let boundary = "xYzBoundary";
    let part = |name: &str, value: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
    };
    let body = format!(
        "{}{}{}--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"content\"\r\nContent-Type: application/octet-stream\r\n\r\nhello multipart\r\n--{boundary}--\r\n",
        part("path", "/Workspace/Shared/upload.txt"),
        part("format", "AUTO"),
        part("overwrite", "true"),
    );
    let (status, response) = send(
        ws.req(Method::POST, "/api/2.0/workspace/import")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let (_, exported) = ws.get("/api/2.0/workspace/export?path=/Shared/upload.txt").await;
    assert_eq!(unb64(&exported["content"]), "hello multipart");
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn files_api_imports_and_reads_raw_bytes() {
    let ws = default_ws().await;
    let import = |path: &str, overwrite: bool, body: &'static str| {
        ws.req(
            Method::POST,
            &format!("/api/2.0/workspace-files/import-file/{path}?overwrite={overwrite}"),
        )
        .body(body)
    };
    let (status, err) = send(import("Workspace/Shared/state/lock.json", false, "{}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the parent folder must exist: {err}"
    );
    assert_eq!(
        ws.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/state"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(import("Workspace/Shared/state/lock.json", false, "{\"a\":1}"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, err) = send(import("Shared/state/lock.json", false, "{}")).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an existing file answers 409: {err}"
    );
    assert_eq!(err["error_code"], "RESOURCE_ALREADY_EXISTS");
    let raw = ws
        .req(Method::GET, "/api/2.0/workspace-files/Shared/state/lock.json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"{\"a\":1}");
    assert_eq!(
        send(import("Shared/state/lock.json", true, "{\"a\":2}")).await.0,
        StatusCode::OK
    );
    let raw = ws
        .req(
            Method::GET,
            "/api/2.0/workspace-files/Workspace/Shared/state/lock.json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"{\"a\":2}");

    // A notebook source with a .py name becomes a notebook without the extension.
    let nb = "# Databricks notebook source\nprint(1)";
    let response = ws
        .req(
            Method::POST,
            "/api/2.0/workspace-files/import-file/Shared/state/job.py?overwrite=false",
        )
        .body(nb)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        ws.status_of("/Shared/state/job").await.1["object_type"],
        "NOTEBOOK"
    );
    let missing = ws
        .req(Method::GET, "/api/2.0/workspace-files/Shared/state/none")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The Go CLI escapes the whole path (url.PathEscape), slashes included.
    let escaped = "Workspace%2FShared%2Fstate%2Fmy%20file.txt";
    let response = ws
        .req(
            Method::POST,
            &format!("/api/2.0/workspace-files/import-file/{escaped}?overwrite=true"),
        )
        .body("escaped")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        ws.status_of("/Shared/state/my file.txt").await.1["object_type"],
        "FILE"
    );
    let raw = ws
        .req(Method::GET, &format!("/api/2.0/workspace-files/{escaped}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"escaped");
    ws.workspace.shutdown().await;
}

/// brickship's deploy lock: of N concurrent create-if-absent imports exactly one wins.
#[tokio::test]
async fn concurrent_create_if_absent_has_exactly_one_winner() {
    let ws = start(Config {
        rate_limits: false,
        ..Config::default()
    })
    .await;
    assert_eq!(
        ws.post(
            "/api/2.0/workspace/mkdirs",
            json!({"path": "/Shared/.brickship/p/dev"})
        )
        .await
        .0,
        StatusCode::OK
    );
    const N: usize = 24;
    let mut tasks = Vec::new();
    for i in 0..N {
        let client = ws.client.clone();
        let url = ws.url.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({
                "path": "/Workspace/Shared/.brickship/p/dev/deploy.lock",
                "format": "AUTO",
                "content": b64(&format!("holder-{i}")),
                "overwrite": false,
            });
            let request = client
                .post(format!("{url}/api/2.0/workspace/import"))
                .bearer_auth(crate::support::TOKEN)
                .json(&body);
            let (status, response) = send(request).await;
            (i, status, response)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (i, status, response) = task.await.unwrap();
        match status {
            StatusCode::OK => winners.push(i),
            StatusCode::BAD_REQUEST => assert_eq!(response["error_code"], "RESOURCE_ALREADY_EXISTS"),
            other => panic!("unexpected {other}: {response}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one import wins: {winners:?}");
    let (_, exported) = ws
        .get("/api/2.0/workspace/export?path=/Shared/.brickship/p/dev/deploy.lock")
        .await;
    assert_eq!(
        unb64(&exported["content"]),
        format!("holder-{}", winners[0]),
        "the winner's content is stored"
    );
    ws.workspace.shutdown().await;
}

#[tokio::test]
async fn objects_and_secrets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        state_dir: Some(dir.path().to_owned()),
        ..Config::default()
    };
    let ws = start(config.clone()).await;
    assert_eq!(
        ws.post("/api/2.0/workspace/mkdirs", json!({"path": "/Shared/keep"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        ws.import("/Shared/keep/f.txt", "RAW", "persisted", false).await.0,
        StatusCode::OK
    );
    assert_eq!(
        ws.post("/api/2.0/secrets/scopes/create", json!({"scope": "kept"}))
            .await
            .0,
        StatusCode::OK
    );
    let put = json!({"scope": "kept", "key": "k", "string_value": "v"});
    assert_eq!(ws.post("/api/2.0/secrets/put", put).await.0, StatusCode::OK);
    let id = ws.status_of("/Shared/keep/f.txt").await.1["object_id"].clone();
    ws.workspace.shutdown().await;

    let ws = start(config).await;
    let (status, info) = ws.status_of("/Shared/keep/f.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["object_id"], id);
    let (_, exported) = ws.get("/api/2.0/workspace/export?path=/Shared/keep/f.txt").await;
    assert_eq!(unb64(&exported["content"]), "persisted");
    let (_, secrets) = ws.get("/api/2.0/secrets/list?scope=kept").await;
    assert_eq!(secrets["secrets"][0]["key"], "k");
    // New objects do not reuse ids.
    assert_eq!(
        ws.import("/Shared/keep/g.txt", "RAW", "new", false).await.0,
        StatusCode::OK
    );
    assert_ne!(ws.status_of("/Shared/keep/g.txt").await.1["object_id"], id);
    ws.workspace.shutdown().await;
}
