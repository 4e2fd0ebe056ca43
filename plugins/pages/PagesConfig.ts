/**
 * The pages plugin's settings. Each part adds its own variables here (one `Setting.Service` per
 * plugin); the README's configuration table lists every one.
 *
 * Files: the largest attachment and the media types a page accepts. Uploads are stored in the
 * database (`FileStore.ts`), so the limit also bounds what one upload adds to it.
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

export class PagesConfig extends Setting.Service<PagesConfig>()("pages/PagesConfig", {
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
