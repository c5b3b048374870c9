//! The command line: the commands clap parses, the item runs it parses from each
//! item's declaration, and running what was parsed.

pub mod args;
pub mod dispatch;
mod item;
mod view;
