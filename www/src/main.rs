//! The logsim web app's page: it renders the Yew UI (`logsim_www::ui`), starts the simulation
//! worker and draws what it sends. Natively this is an empty binary.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    let document = web_sys::window().and_then(|w| w.document());
    // The static page shows "Loading logsim…" until the app replaces it.
    if let Some(boot) = document.as_ref().and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    yew::Renderer::<logsim_www::ui::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "logsim-www is the browser app: build it with `trunk build` (or `cargo xtask serve`)."
    );
}
