//! The plugin side: finding, probing and loading plugin libraries, the registry of the items
//! they provide, the services the host hands them, the words of an item sorted by its
//! declaration, running a task, and the help and listings made from declarations.

pub mod help;
pub mod host_api;
mod library;
mod manifest_cache;
pub mod params;
pub mod probe;
pub mod registry;
pub mod task;
