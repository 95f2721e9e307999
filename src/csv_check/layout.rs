//! What the header row says, as the rules of the data rows read it: the
//! column names the rules look for, and where each is ([`Layout`]).

pub(super) const USERNAME: &str = "cognito:username";
pub(super) const MFA_ENABLED: &str = "cognito:mfa_enabled";
pub(super) const EMAIL: &str = "email";
pub(super) const EMAIL_VERIFIED: &str = "email_verified";
pub(super) const PHONE_NUMBER: &str = "phone_number";
pub(super) const PHONE_NUMBER_VERIFIED: &str = "phone_number_verified";
pub(super) const BIRTHDATE: &str = "birthdate";
pub(super) const UPDATED_AT: &str = "updated_at";
pub(super) use super::groups::GROUPS;
pub(super) use super::password::PASSWORD_HASH;

/// What the header row says, computed once: the rules look columns up by
/// index.
pub(super) struct Layout {
    pub(super) names: Vec<String>,
    pub(super) username: Option<usize>,
    pub(super) mfa_enabled: Option<usize>,
    pub(super) email: Option<usize>,
    pub(super) email_verified: Option<usize>,
    pub(super) phone_number: Option<usize>,
    pub(super) phone_number_verified: Option<usize>,
    pub(super) birthdate: Option<usize>,
    pub(super) updated_at: Option<usize>,
    /// SPEC section 15: the hashes, a column beside the pool's.
    pub(super) password_hash: Option<usize>,
    /// SPEC section 17: the users' groups, a column beside the pool's.
    pub(super) groups: Option<usize>,
}

impl Layout {
    /// The layout of a header of these column names.
    pub(super) fn new(names: Vec<String>) -> Layout {
        let find = |column: &str| names.iter().position(|n| n == column);
        Layout {
            username: find(USERNAME),
            mfa_enabled: find(MFA_ENABLED),
            email: find(EMAIL),
            email_verified: find(EMAIL_VERIFIED),
            phone_number: find(PHONE_NUMBER),
            phone_number_verified: find(PHONE_NUMBER_VERIFIED),
            birthdate: find(BIRTHDATE),
            updated_at: find(UPDATED_AT),
            password_hash: find(PASSWORD_HASH),
            groups: find(GROUPS),
            names,
        }
    }
}
