//! Malformed and hostile image files: every sample format a TIFF can claim, decode
//! limits on PNG, JPEG and standard input, truncated files. Each test is named after the
//! defect it guards against.
