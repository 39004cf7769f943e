pub mod account;
pub mod dev_mailbox;
pub mod home;
pub mod not_found;
pub mod sessions;
pub mod sign_in;
pub mod staff;
