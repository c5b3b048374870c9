//! libtorch embeds no rpath, so a library linked to it fails to load unless
//! LD_LIBRARY_PATH is set. Record where libtorch is in this library instead: first
//! beside it in an installed copy (`scripts/install` puts libtorch's libraries in
//! `lib/infty/libtorch`, next to `lib/infty/plugins`), then the folder it was built with.

fn main() {
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../libtorch");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // For loading libtorch_cuda.so on demand (see src/device.rs).
        println!("cargo:rustc-env=INFTY_LIBTORCH_LIB={lib}");
    }
}
