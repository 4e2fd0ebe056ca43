/**
 * The pages plugin's settings (the host reads and checks them at start, offers them as
 * `trellis serve` flags, and the README lists them). People: the OAuth apps a person may sign
 * in with (GitHub, Google) and their endpoints (defaults: the providers' own; an operator or a
 * test may point them elsewhere, such as a GitHub Enterprise server). Files: the largest
 * attachment and the media types a page accepts (uploads are stored in the database, so the
 * limit also bounds what one upload adds to it).
 */
import { Setting } from "trellis/plugin"

/** The media types accepted when `TRELLIS_PAGES_FILE_TYPES` is unset: common documents and images. */
export const defaultFileTypes: ReadonlyArray<string> = [
  "application/pdf",
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "text/plain",
  "text/csv",
  "application/json",
  "text/markdown",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/zip"
]

const url = (name: string, fallback: string, description: string) =>
  Setting.make(name, {
    schema: Setting.urlSchema(["https:", "http:"]),
    default: fallback,
    shownDefault: fallback,
    expected: "an http(s) URL",
    description
  })

export class PagesConfig extends Setting.Service<PagesConfig>()("pages/PagesConfig", {
  magicLinksPerAddress: Setting.integer("TRELLIS_MAGIC_LINKS_PER_ADDRESS", {
    default: 3,
    min: 1,
    max: 1000,
    expected: "a whole number from 1 to 1000",
    description: "Pages plugin: magic links sent to one email address per minute (`POST /v1/auth/magic-link/send`); more is 429."
  }),
  magicLinksPerClient: Setting.integer("TRELLIS_MAGIC_LINKS_PER_CLIENT", {
    default: 10,
    min: 1,
    max: 10000,
    expected: "a whole number from 1 to 10000",
    description: "Pages plugin: magic links one client address may ask for per minute; more is 429."
  }),
  githubClientId: Setting.text("TRELLIS_OAUTH_GITHUB_CLIENT_ID", {
    unset: "(unset: no GitHub sign-in)",
    description: "Pages plugin: the client id of the GitHub OAuth app people sign in with to open pages (`POST /v1/auth/oauth/github`); its callback URL is `<public URL>/v1/auth/oauth/github/callback`. Set it with `TRELLIS_OAUTH_GITHUB_CLIENT_SECRET`."
  }),
  githubClientSecret: Setting.secret("TRELLIS_OAUTH_GITHUB_CLIENT_SECRET", {
    unset: "(unset)",
    description: "Pages plugin: the client secret of the GitHub OAuth app."
  }),
  githubBaseUrl: url("TRELLIS_OAUTH_GITHUB_URL", "https://github.com", "Pages plugin: GitHub's web origin for OAuth (`/login/oauth/authorize`, `/login/oauth/access_token`); a GitHub Enterprise server's origin, or a test's fake."),
  githubApiUrl: url("TRELLIS_OAUTH_GITHUB_API_URL", "https://api.github.com", "Pages plugin: GitHub's API base for the signed-in person's verified email addresses (`/user/emails`)."),
  googleClientId: Setting.text("TRELLIS_OAUTH_GOOGLE_CLIENT_ID", {
    unset: "(unset: no Google sign-in)",
    description: "Pages plugin: the client id of the Google OAuth client people sign in with to open pages (`POST /v1/auth/oauth/google`); its redirect URI is `<public URL>/v1/auth/oauth/google/callback`. Set it with `TRELLIS_OAUTH_GOOGLE_CLIENT_SECRET`."
  }),
  googleClientSecret: Setting.secret("TRELLIS_OAUTH_GOOGLE_CLIENT_SECRET", {
    unset: "(unset)",
    description: "Pages plugin: the client secret of the Google OAuth client."
  }),
  googleAuthorizeUrl: url("TRELLIS_OAUTH_GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth", "Pages plugin: Google's OAuth authorization endpoint."),
  googleTokenUrl: url("TRELLIS_OAUTH_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token", "Pages plugin: Google's OAuth token endpoint."),
  googleUserinfoUrl: url("TRELLIS_OAUTH_GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com/v1/userinfo", "Pages plugin: Google's OpenID Connect userinfo endpoint (the verified email address)."),
  oauthAllowPrivate: Setting.boolean("TRELLIS_OAUTH_ALLOW_PRIVATE", {
    default: false,
    description: "Pages plugin: whether the OAuth token and user endpoints may be internal addresses (a self-hosted identity provider on the private network, a test's fake). The URLs come only from this configuration, never from a caller."
  }),
  webhooksAllowPrivate: Setting.boolean("TRELLIS_PAGES_WEBHOOKS_ALLOW_PRIVATE", {
    default: false,
    description: "Pages plugin: let action webhooks and Slack notices reach private and loopback addresses (an agent on the same network). Off, such a URL is refused and the delivery dropped (audited as `pages.webhook.refused`)."
  }),
  maxFileBytes: Setting.integer("TRELLIS_PAGES_MAX_FILE_BYTES", {
    default: 25 * 1024 * 1024,
    min: 1,
    max: 1024 * 1024 * 1024,
    description: "Pages plugin: the largest file a page accepts, in bytes (presign, the upload PUT and the viewer's form); larger is 413. Applies to the upload route instead of `TRELLIS_MAX_BODY_BYTES`."
  }),
  fileTypes: Setting.list("TRELLIS_PAGES_FILE_TYPES", {
    unset: "(unset: pdf, png, jpeg, gif, webp, txt, csv, json, markdown, docx, xlsx, zip)",
    description: "Pages plugin: the media types files may have (comma-separated, e.g. `application/pdf,image/png`; `image/*` allows a whole family); another type is 400."
  })
}) {}

export type PagesConfigShape = typeof PagesConfig.Service
