// The sample project is embedded in the binary; rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=../../examples/content-pipeline");
}
