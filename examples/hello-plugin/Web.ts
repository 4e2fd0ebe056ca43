/**
 * The example plugin's web routes: a server-rendered page listing the organization's
 * greetings (session cookie, viewer and up) and its stylesheet (a public static asset).
 * Greeting names are user input: `html` escapes them.
 */
import { Effect } from "effect"
import { Html, Requirement, WebRoute } from "trellis/plugin"
import { Greetings } from "./Greetings.ts"
import { viewerCss } from "./viewer.css.ts"

const { html } = Html

const GreetingsPage = Effect.gen(function*() {
  const greetings = yield* Greetings
  const items = yield* greetings.list
  return Html.page(html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Greetings</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/hello/assets/viewer.css">
</head>
<body>
<h1>Greetings</h1>
${
    items.length === 0
      ? html`<p class="empty">No greetings yet.</p>`
      : html`<ul class="greetings">${items.map((g) => html`<li data-id="${g.id}">${g.message}</li>`)}</ul>`
  }
</body>
</html>`)
})

export const webRoutes = [
  WebRoute.get("/hello", GreetingsPage, {
    auth: "cookie",
    requires: Requirement.read("hello"),
    description: "The organization's greetings as an HTML page"
  }),
  WebRoute.asset("/hello/assets/viewer.css", viewerCss)
]
