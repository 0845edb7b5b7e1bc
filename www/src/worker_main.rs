//! The simulation worker's entry point: Trunk builds this binary with `data-type="worker"`, and
//! the page starts it from `logsim-worker_loader.js`.

#[cfg(target_arch = "wasm32")]
fn main() {
    logsim_www::worker::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("logsim-worker is the app's Web Worker: build it with `trunk build`.");
}
