//! Permissions, workspace objects, cluster catalogs, secrets and SCIM users.

string_enum! {
    /// A permission level. Jobs use `CAN_VIEW`, `CAN_MANAGE_RUN`, `CAN_MANAGE`, `IS_OWNER`.
    pub enum PermissionLevel {
        CanView = "CAN_VIEW",
        CanManageRun = "CAN_MANAGE_RUN",
        CanManage = "CAN_MANAGE",
        IsOwner = "IS_OWNER",
        CanRead = "CAN_READ",
        CanRun = "CAN_RUN",
        CanEdit = "CAN_EDIT",
        CanAttachTo = "CAN_ATTACH_TO",
        CanRestart = "CAN_RESTART",
        CanUse = "CAN_USE",
    }
}

model! {
    /// One entry of a permissions PUT/PATCH (or of `access_control_list` on create/submit):
    /// exactly one principal field and a level.
    pub struct AccessControlRequest {
        opt user_name: String,
        opt group_name: String,
        opt service_principal_name: String,
        opt permission_level: PermissionLevel,
    }
}

impl AccessControlRequest {
    /// A user's level.
    pub fn user(name: impl Into<String>, level: PermissionLevel) -> Self {
        Self {
            user_name: Some(name.into()),
            permission_level: Some(level),
            ..Self::default()
        }
    }
    /// A group's level.
    pub fn group(name: impl Into<String>, level: PermissionLevel) -> Self {
        Self {
            group_name: Some(name.into()),
            permission_level: Some(level),
            ..Self::default()
        }
    }
    /// A service principal's level (by application id).
    pub fn service_principal(name: impl Into<String>, level: PermissionLevel) -> Self {
        Self {
            service_principal_name: Some(name.into()),
            permission_level: Some(level),
            ..Self::default()
        }
    }
}

model! {
    /// A principal's permissions as the permissions API returns them.
    pub struct AccessControlResponse {
        opt user_name: String,
        opt group_name: String,
        opt service_principal_name: String,
        opt display_name: String,
        opt all_permissions: Vec<Permission>,
    }
}

impl AccessControlResponse {
    /// The principal's name, whichever kind it is.
    pub fn principal(&self) -> Option<&str> {
        self.user_name
            .as_deref()
            .or(self.group_name.as_deref())
            .or(self.service_principal_name.as_deref())
    }
    /// Levels granted directly (not inherited).
    pub fn direct_levels(&self) -> impl Iterator<Item = &PermissionLevel> {
        self.all_permissions
            .iter()
            .flatten()
            .filter(|p| !p.inherited.unwrap_or(false))
            .filter_map(|p| p.permission_level.as_ref())
    }
}

model! {
    pub struct Permission {
        opt permission_level: PermissionLevel,
        opt inherited: bool,
        opt inherited_from_object: Vec<String>,
    }
}

model! {
    /// Permissions of an object, e.g. `{object_id: "/jobs/12", object_type: "job", access_control_list: [...]}`.
    pub struct ObjectPermissions {
        opt object_id: String,
        opt object_type: String,
        opt access_control_list: Vec<AccessControlResponse>,
    }
}

model! {
    pub struct PermissionLevelDescription {
        opt permission_level: PermissionLevel,
        opt description: String,
    }
}

string_enum! {
    /// The kind of a workspace object.
    pub enum ObjectType {
        Notebook = "NOTEBOOK",
        Directory = "DIRECTORY",
        File = "FILE",
        Library = "LIBRARY",
        Repo = "REPO",
        Dashboard = "DASHBOARD",
    }
}

string_enum! {
    /// Notebook language.
    pub enum Language {
        Python = "PYTHON",
        Sql = "SQL",
        Scala = "SCALA",
        R = "R",
    }
}

string_enum! {
    /// Format of `workspace/import` and `workspace/export`.
    pub enum ExportFormat {
        Source = "SOURCE",
        Html = "HTML",
        Jupyter = "JUPYTER",
        Dbc = "DBC",
        RMarkdown = "R_MARKDOWN",
        Auto = "AUTO",
        Raw = "RAW",
    }
}

/// Import uses the same format names as export.
pub type ImportFormat = ExportFormat;

model! {
    /// A workspace object (`workspace/get-status`, `workspace/list`).
    pub struct ObjectInfo {
        opt object_type: ObjectType,
        opt path: String,
        opt language: Language,
        opt object_id: i64,
        opt resource_id: String,
        opt size: i64,
        opt created_at: i64,
        opt modified_at: i64,
    }
}

model! {
    /// A node type a cluster can use.
    pub struct NodeType {
        req node_type_id: String,
        opt memory_mb: i64,
        opt num_cores: f64,
        opt num_gpus: i64,
        opt description: String,
        opt instance_type_id: String,
        opt category: String,
        opt is_deprecated: bool,
    }
}

model! {
    /// A Databricks Runtime version, e.g. `{key: "15.4.x-scala2.12", name: "15.4 LTS (...)"}`.
    pub struct SparkVersion {
        req key: String,
        opt name: String,
    }
}

model! {
    /// A secret scope.
    pub struct SecretScope {
        req name: String,
        opt backend_type: String,
        opt keyvault_metadata: serde_json::Value,
    }
}

model! {
    /// A secret's metadata (never its value).
    pub struct SecretMetadata {
        req key: String,
        opt last_updated_timestamp: i64,
    }
}

model! {
    /// A SCIM user (`/api/2.0/preview/scim/v2/Me`).
    pub struct ScimUser {
        opt id: String,
        #[serde(rename = "userName")]
        opt user_name: String,
        #[serde(rename = "displayName")]
        opt display_name: String,
        opt active: bool,
        opt emails: Vec<ScimValue>,
        opt groups: Vec<ScimValue>,
    }
}

model! {
    /// A SCIM multi-valued attribute entry (`emails`, `groups`).
    pub struct ScimValue {
        opt value: String,
        opt display: String,
        #[serde(rename = "type")]
        opt value_type: String,
        opt primary: bool,
    }
}
