//! Broken plugin libraries on the plugin path: the host probes them and reports each
//! in one line, whatever the file does. Each test is named after the defect it guards against.
