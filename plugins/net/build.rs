//! libtorch embeds no rpath, so a library linked to it fails to load unless
//! LD_LIBRARY_PATH is set. Record libtorch's folder in this library instead.

fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // For loading libtorch_cuda.so on demand (see src/device.rs).
        println!("cargo:rustc-env=INFTY_LIBTORCH_LIB={lib}");
    }
}
