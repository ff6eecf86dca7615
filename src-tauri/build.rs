fn main() {
    // The app embeds the built UI; say how to build it rather than fail inside a macro.
    println!("cargo:rerun-if-changed=ui/dist");
    if !std::path::Path::new("ui/dist/index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: build the UI first with `npm --prefix ui ci && npm --prefix ui run build` (or use `make run`)"
        );
    }
    tauri_build::build();
}
