"use strict";
// The product page's upload of photos added on the site: the file input is hidden to the eye
// and its label is the button (the browser's own speaks the browser's language); this names
// the chosen files beside it, or says none is chosen, in the page's words.
document.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches(".site-photos__input")) {
        return;
    }
    const chosen = input.form.querySelector(".site-photos__chosen");
    chosen.textContent = Array.from(input.files, (file) => file.name).join(", ") || chosen.dataset.none;
});
