/**
 * The greetings page's stylesheet, as a string constant: imported statically, so a single-file
 * binary carries it (Node cannot import `.css` files).
 */
import { Asset } from "trellis/plugin"

export const viewerCss = Asset.text("text/css", `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; color: #1d2330; }
h1 { font-size: 1.5rem; }
ul.greetings { list-style: none; padding: 0; }
ul.greetings li { padding: 0.5rem 0; border-bottom: 1px solid #d8dce4; }
p.empty { color: #5b6477; }
`)
