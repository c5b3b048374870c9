//! Faults while running: concurrent runs, outputs that are not plain files, sizes that
//! overflow, signals, damaged journals and shards. Each test is named after the defect it
//! guards against.
