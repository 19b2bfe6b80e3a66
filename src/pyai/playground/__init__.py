"""The browser playground's static files (``index.html``, ``playground.js``, ``capture-worklet.js``),
served as they are by ``pyai.api.playground``: no build step, nothing fetched from elsewhere."""
