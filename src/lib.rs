//! WASM entry of the portal: hydrates the islands (`#[island]` components)
//! of the server-rendered page. Nothing else lives here; the UI is in
//! `app/`, everything server-only in `server/`.

// The islands are exported from `app` (`#[island]` makes each one a
// wasm-bindgen export); nothing here names them, so link the crate outright
// or the exports are dropped.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
