//! Emulated Cognito (awsJson1_1): the user-import-job API (`api`) with the
//! jobs' pre-signed CSV upload URLs (`upload`), the simulated run of a
//! started job (`run`), and the pool's groups and users (`groups`); `store`
//! holds pools and jobs, `params` what every operation reads and answers.

mod api;
pub(crate) mod groups;
mod params;
pub(crate) mod run;
pub(crate) mod store;
pub(crate) mod upload;

use serde_json::Value;

use self::params::{invalid, ApiError};
use crate::wire::{json_error, json_response, Resp};
use crate::{util, State};

/// The operations the emulator answers (anything else under the Cognito
/// target prefix is `UnknownOperationException`).
pub(crate) const OPERATIONS: &[&str] = &[
    "CreateUserImportJob",
    "DescribeUserImportJob",
    "StartUserImportJob",
    "StopUserImportJob",
    "ListUserImportJobs",
    "GetCSVHeader",
    "DescribeUserPool",
    "ListGroups",
    "CreateGroup",
    "AdminAddUserToGroup",
];

pub(crate) fn execute(state: &State, operation: &str, body: &Value) -> Resp {
    let result = if body.is_object() {
        let mut inner = state.lock();
        run::advance_jobs(&mut inner, util::now_ms());
        match operation {
            "CreateUserImportJob" => api::create_job(&mut inner, state, body),
            "DescribeUserImportJob" => api::describe_job(&inner, body),
            "StartUserImportJob" => api::start_job(&mut inner, body),
            "StopUserImportJob" => api::stop_job(&mut inner, body),
            "ListUserImportJobs" => api::list_jobs(&inner, body),
            "GetCSVHeader" => api::csv_header(&inner, body),
            "DescribeUserPool" => api::describe_pool(&inner, body),
            "ListGroups" => groups::list_groups(&inner, body),
            "CreateGroup" => groups::create_group(&mut inner, body),
            "AdminAddUserToGroup" => groups::add_user_to_group(&mut inner, body),
            _ => Err(ApiError {
                code: "UnknownOperationException",
                message: format!("Unknown operation {operation}"),
            }),
        }
    } else {
        Err(invalid("The request body must be a JSON object"))
    };
    match result {
        Ok(response) => json_response(200, &response),
        Err(error) => {
            let status = if error.code == "InternalErrorException" {
                500
            } else {
                400
            };
            json_error(status, error.code, &error.message)
        }
    }
}
