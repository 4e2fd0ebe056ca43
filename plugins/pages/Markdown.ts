/**
 * Markdown for the viewer's text blocks. Agent-written text is untrusted, so it goes through
 * markdown-it with raw HTML off (`html: false`: a `<script>` or `<img onerror>` in the text is
 * shown as text), markdown-it's own link check (`javascript:`, `vbscript:`, `file:` and
 * non-image `data:` URLs are not linked) and two rules of ours: links open with
 * `rel="noopener noreferrer nofollow"`, and images render only from this server or a `data:image`
 * URL (the page's Content-Security-Policy allows no other image source): a remote image becomes a
 * link to it. markdown-it is plain JavaScript with no native parts, so it runs the same on Node,
 * Deno and in the single-file binary.
 */
import MarkdownIt from "markdown-it"
import { Html } from "trellis/plugin"

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false })

/** `data:image/...` (not SVG, which can carry script when opened on its own) or a path of this server. */
export const inlineImageAllowed = (url: string): boolean =>
  /^data:image\/(png|gif|jpe?g|webp|avif);base64,[a-z0-9+/=\s]+$/i.test(url) || (/^\/(?!\/)/.test(url) && !url.includes("\\"))

/** An http(s) URL (what the viewer links to when it cannot show an image inline). */
export const isHttpUrl = (url: string): boolean => /^https?:\/\/[^\s]+$/i.test(url)

md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  const token = tokens[idx]!
  token.attrSet("rel", "noopener noreferrer nofollow")
  return self.renderToken(tokens, idx, options)
}

md.renderer.rules.image = (tokens, idx) => {
  const token = tokens[idx]!
  const src = token.attrGet("src") ?? ""
  const alt = token.content
  if (inlineImageAllowed(src)) {
    return `<img src="${Html.escape(src)}" alt="${Html.escape(alt)}" loading="lazy">`
  }
  if (isHttpUrl(src)) {
    return `<a href="${Html.escape(src)}" rel="noopener noreferrer nofollow" class="remote-image">Image: ${Html.escape(alt === "" ? src : alt)}</a>`
  }
  return `<span class="remote-image">${Html.escape(alt)}</span>`
}

/** Markdown text as safe markup. */
export const render = (text: string): Html.Html => Html.raw(md.render(text))
