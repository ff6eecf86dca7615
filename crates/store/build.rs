// A binary must never ship without the migrations it embeds.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
