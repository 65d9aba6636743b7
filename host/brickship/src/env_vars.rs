//! Every environment variable brickship reads, in one place.

pub const OUTPUT: &str = "BRICKSHIP_OUTPUT";
pub const ENVIRONMENT: &str = "BRICKSHIP_ENVIRONMENT";
pub const PROJECT: &str = "BRICKSHIP_PROJECT";
pub const APPROVE: &str = "BRICKSHIP_APPROVE";
pub const WORKSPACE_ADDR: &str = "BRICKSHIP_WORKSPACE_ADDR";
pub const WORKSPACE_STATE: &str = "BRICKSHIP_WORKSPACE_STATE";
pub const WORKSPACE_RUN_SPEED: &str = "BRICKSHIP_WORKSPACE_RUN_SPEED";
pub const WORKSPACE_TOKEN: &str = "BRICKSHIP_WORKSPACE_TOKEN";
pub const PLUGIN_SDK: &str = "BRICKSHIP_PLUGIN_SDK";
