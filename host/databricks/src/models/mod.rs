//! Typed request and response bodies.
//!
//! Every struct keeps the fields it does not model in `extra` (`#[serde(flatten)]`), so a value
//! read from the API and written back is unchanged: the API grows every month and a deploy tool
//! must not drop what it does not know. Optional fields are `Option` and are omitted when
//! `None`, so absent and empty stay distinct. Enums the service extends (`RunLifeCycleState`,
//! `PermissionLevel`, …) have an `Unknown(String)` variant that keeps the spelling.

/// A struct with `req` fields (always serialised, `Default` when absent) and `opt` fields
/// (`Option`, omitted when `None`), plus `extra` for everything else. Fields keep their order.
macro_rules! model {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        model!(@munch [$(#[$meta])*] $name [] $($body)*);
    };
    (@munch $meta:tt $name:ident [$($out:tt)*] $(#[$fmeta:meta])* req $field:ident : $ty:ty, $($rest:tt)*) => {
        model!(@munch $meta $name [$($out)* $(#[$fmeta])* #[serde(default)] pub $field: $ty,] $($rest)*);
    };
    (@munch $meta:tt $name:ident [$($out:tt)*] $(#[$fmeta:meta])* opt $field:ident : $ty:ty, $($rest:tt)*) => {
        model!(@munch $meta $name [$($out)* $(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,] $($rest)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($out:tt)*]) => {
        $($meta)*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $($out)*
            /// Fields this client does not model, kept verbatim.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    };
}

/// A string enum that tolerates values it does not know (`Unknown` keeps the spelling).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $text, "`")] $variant, )*
            /// A value this client does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $text => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Ok(Self::from(value.as_str()))
            }
        }
    };
}

mod jobs;
mod other;
mod runs;

pub use jobs::*;
pub use other::*;
pub use runs::*;
