//! With JavaScript, the upload forms (dispute, message) list the chosen
//! files with their sizes, flag what the portal will refuse before sending,
//! and send the form with XMLHttpRequest to show the upload's progress. The
//! input and the form stay plain HTML outside the island, so without
//! JavaScript the form posts as usual and the server says the same things.

use leptos::prelude::*;

/// Files over this are refused by the server too (domain::attachment).
pub const MAX_FILE_BYTES: f64 = 10.0 * 1024.0 * 1024.0;
pub const MAX_FILES: usize = 5;

fn size_text(bytes: f64) -> String {
    if bytes < 1024.0 * 1024.0 {
        format!("{} KB", (bytes / 1024.0).ceil())
    } else {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    }
}

/// `input_id`: the form's `<input type="file">`; `form_id`: its form.
#[island]
pub fn FilePicker(input_id: String, form_id: String) -> impl IntoView {
    let files = RwSignal::new(Vec::<(String, f64)>::new());
    let progress = RwSignal::new(None::<u32>);
    let blocked = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::wire(&input_id, &form_id, files, progress, blocked));
    #[cfg(not(feature = "hydrate"))]
    let _ = (input_id, form_id);
    let too_many = move || files.with(|f| f.len() > MAX_FILES);
    view! {
        <div class="file-picker" aria-live="polite">
            <ul class="file-list">
                {move || files.get().into_iter().map(|(name, size)| {
                    let large = size > MAX_FILE_BYTES;
                    view! {
                        <li class:file-refused=large>
                            {name}" · "{size_text(size)}
                            {large.then(|| view! { <strong>" · too large: at most 10 MB"</strong> })}
                        </li>
                    }
                }).collect_view().into_any()}
            </ul>
            {move || too_many().then(|| view! {
                <p class="notice notice-error">{format!("Choose at most {MAX_FILES} files.")}</p>
            }.into_any())}
            {move || blocked.get().then(|| view! {
                <p class="notice notice-error" role="alert">"Remove the flagged files before sending."</p>
            }.into_any())}
            {move || progress.get().map(|p| view! {
                <p>
                    <label>"Uploading… "<progress max="100" value=p.to_string()>{format!("{p}%")}</progress></label>
                    {format!(" {p}%")}
                </p>
            }.into_any())}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{
        Event, FormData, HtmlFormElement, HtmlInputElement, ProgressEvent, XmlHttpRequest,
    };

    use super::{MAX_FILES, MAX_FILE_BYTES};

    pub fn wire(
        input_id: &str,
        form_id: &str,
        files: RwSignal<Vec<(String, f64)>>,
        progress: RwSignal<Option<u32>>,
        blocked: RwSignal<bool>,
    ) {
        let document = document();
        let (Some(input), Some(form)) = (
            document
                .get_element_by_id(input_id)
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok()),
            document
                .get_element_by_id(form_id)
                .and_then(|e| e.dyn_into::<HtmlFormElement>().ok()),
        ) else {
            return;
        };
        let chosen = input.clone();
        let on_change = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let mut list = Vec::new();
            if let Some(selected) = chosen.files() {
                for i in 0..selected.length() {
                    if let Some(file) = selected.get(i) {
                        list.push((file.name(), file.size()));
                    }
                }
            }
            blocked.set(false);
            files.set(list);
        });
        let _ =
            input.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();

        let sending = form.clone();
        let on_submit = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let list = files.get_untracked();
            if list.is_empty() {
                return; // nothing to upload: the plain post is quick
            }
            event.prevent_default();
            if list.len() > MAX_FILES || list.iter().any(|(_, size)| *size > MAX_FILE_BYTES) {
                blocked.set(true);
                return;
            }
            send(&sending, progress);
        });
        let _ = form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();
    }

    /// Posts the form as the browser would (multipart), showing progress;
    /// then follows the redirect the server answered, or shows its page
    /// (413, 400).
    fn send(form: &HtmlFormElement, progress: RwSignal<Option<u32>>) {
        let (Ok(data), Ok(xhr)) = (FormData::new_with_form(form), XmlHttpRequest::new()) else {
            let _ = form.submit();
            return;
        };
        let action = form.action();
        if xhr.open("POST", &action).is_err() {
            let _ = form.submit();
            return;
        }
        progress.set(Some(0));
        if let Ok(upload) = xhr.upload() {
            let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some((e.loaded() / e.total() * 100.0).round() as u32));
                }
            });
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            on_progress.forget();
        }
        let done = xhr.clone();
        let on_load = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let url = done.response_url();
            if done.status().unwrap_or(0) < 400 && !url.is_empty() && url != action {
                let _ = window().location().assign(&url);
            } else if let (Ok(Some(html)), Some(root)) =
                (done.response_text(), document().document_element())
            {
                root.set_inner_html(&html);
            }
        });
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        on_load.forget();
        let failed = form.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            // The connection failed: the plain post says what happened.
            let _ = failed.submit();
        });
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        if xhr.send_with_opt_form_data(Some(&data)).is_err() {
            let _ = form.submit();
        }
    }
}
