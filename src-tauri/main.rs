// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Must run before GTK starts and before any other thread exists.
    chainlift_app::software_rendering_fallback();
    chainlift_app::run();
}
