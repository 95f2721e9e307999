//! The Cognito adapter: the import-job calls (`ListUserImportJobs`,
//! `CreateUserImportJob`, `StartUserImportJob`, `DescribeUserImportJob`),
//! `GetCSVHeader` and `DescribeUserPool`, and the classification of their
//! errors. A call that succeeds for a pool tells the metrics writer that
//! the pool exists (it may then be named as a dimension).

use aws_sdk_cognitoidentityprovider::operation::start_user_import_job::StartUserImportJobError;
use aws_sdk_cognitoidentityprovider::types::PasswordHashingAlgorithmType;

use crate::aws::metrics::Metrics;
use crate::error::{classify_sdk_error, ImportError, Service};
use crate::model::{ImportJob, JobRef};

/// `ListUserImportJobs` pages hold at most 60 jobs.
const LIST_PAGE: i32 = 60;

/// The Cognito client and the metrics writer that learns of known pools.
#[derive(Clone, Copy, Debug)]
pub struct Cognito<'a> {
    pub client: &'a aws_sdk_cognitoidentityprovider::Client,
    pub metrics: Option<&'a Metrics>,
}

/// One page of a pool's jobs: those with an ID, and the next page's token.
#[derive(Clone, Debug, PartialEq)]
pub struct JobsPage {
    pub jobs: Vec<ImportJob>,
    pub next: Option<String>,
}

/// What `StartUserImportJob` answered.
#[derive(Clone, Debug, PartialEq)]
pub enum StartReply {
    /// Started now: the job as Cognito returned it (boxed: the other
    /// variant is empty).
    Started(Box<ImportJob>),
    /// `PreconditionNotMetException`: the job is not `Created`, or has no
    /// CSV yet, or the import slot is taken; its status tells which.
    PreconditionNotMet,
}

impl Cognito<'_> {
    fn pool_known(&self, pool: &str) {
        if let Some(metrics) = self.metrics {
            metrics.pool_known(pool);
        }
    }

    /// The columns Cognito expects in this pool's CSV files.
    pub async fn csv_header(&self, pool: &str) -> Result<Vec<String>, ImportError> {
        let output = self
            .client
            .get_csv_header()
            .user_pool_id(pool)
            .send()
            .await
            .map_err(|e| {
                classify_sdk_error(Service::Cognito, &format!("GetCSVHeader {pool}"), &e)
            })?;
        self.pool_known(pool);
        Ok(output.csv_header().to_vec())
    }

    /// One page of the pool's jobs, newest first; `what` names the listing
    /// in the error.
    pub async fn list_jobs(
        &self,
        pool: &str,
        token: Option<String>,
        what: &str,
    ) -> Result<JobsPage, ImportError> {
        let page = self
            .client
            .list_user_import_jobs()
            .user_pool_id(pool)
            .max_results(LIST_PAGE)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, what, &e))?;
        self.pool_known(pool);
        Ok(JobsPage {
            jobs: page
                .user_import_jobs()
                .iter()
                .filter(|job| job.job_id().is_some())
                .map(ImportJob::from)
                .collect(),
            next: page.pagination_token().map(str::to_string),
        })
    }

    /// Creates the job `name`; `None` when Cognito answered without a job
    /// record that has an ID.
    pub async fn create_job(
        &self,
        pool: &str,
        name: &str,
        role: &str,
        password_algorithm: Option<&str>,
    ) -> Result<Option<ImportJob>, ImportError> {
        let what = format!("CreateUserImportJob {name} in {pool}");
        let output = self
            .client
            .create_user_import_job()
            .user_pool_id(pool)
            .job_name(name)
            .cloud_watch_logs_role_arn(role)
            .set_password_hashing_algorithm(
                password_algorithm.map(PasswordHashingAlgorithmType::from),
            )
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
        Ok(output
            .user_import_job()
            .map(ImportJob::from)
            .filter(|job| job.job_id.is_some()))
    }

    /// `StartUserImportJob`; a refusal because of the job's state is an
    /// answer, not an error.
    pub async fn start_job(&self, ids: &JobRef) -> Result<StartReply, ImportError> {
        let what = format!("StartUserImportJob {} in {}", ids.job_id, ids.user_pool_id);
        let result = self
            .client
            .start_user_import_job()
            .user_pool_id(&ids.user_pool_id)
            .job_id(&ids.job_id)
            .send()
            .await;
        match result {
            Ok(output) => Ok(StartReply::Started(Box::new(
                output
                    .user_import_job()
                    .map(ImportJob::from)
                    .unwrap_or_else(|| fallback(ids)),
            ))),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(StartUserImportJobError::PreconditionNotMetException(_))
                ) =>
            {
                Ok(StartReply::PreconditionNotMet)
            }
            Err(error) => Err(classify_sdk_error(Service::Cognito, &what, &error)),
        }
    }

    /// The job's record as Cognito holds it now.
    pub async fn describe_job(&self, ids: &JobRef) -> Result<ImportJob, ImportError> {
        let what = format!(
            "DescribeUserImportJob {} in {}",
            ids.job_id, ids.user_pool_id
        );
        let output = self
            .client
            .describe_user_import_job()
            .user_pool_id(&ids.user_pool_id)
            .job_id(&ids.job_id)
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
        self.pool_known(&ids.user_pool_id);
        Ok(output
            .user_import_job()
            .map(ImportJob::from)
            .unwrap_or_else(|| fallback(ids)))
    }

    /// The pool's name (empty when Cognito gives none).
    pub async fn pool_name(&self, pool_id: &str) -> Result<String, ImportError> {
        let output = self
            .client
            .describe_user_pool()
            .user_pool_id(pool_id)
            .send()
            .await
            .map_err(|e| {
                classify_sdk_error(Service::Cognito, &format!("DescribeUserPool {pool_id}"), &e)
            })?;
        Ok(output
            .user_pool()
            .and_then(|pool| pool.name())
            .unwrap_or_default()
            .to_string())
    }
}

/// Cognito always returns the record; should it not, the IDs still name it.
fn fallback(ids: &JobRef) -> ImportJob {
    ImportJob {
        job_id: Some(ids.job_id.clone()),
        user_pool_id: Some(ids.user_pool_id.clone()),
        ..ImportJob::default()
    }
}
