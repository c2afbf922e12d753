//! Runbook control: the start of a runbook, its return data, and starting other runbooks.
//! (`junction` is run by the engine itself, since it reads the data bus.)

mod initialize_data;
mod invoke_runbook;
mod return_data;

pub use initialize_data::InitializeData;
pub use invoke_runbook::InvokeRunbook;
pub use return_data::ReturnData;
