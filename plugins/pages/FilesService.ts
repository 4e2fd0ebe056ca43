/**
 * The `Files` service: a page's attachments, for the API routes (presign, PUT, complete, list,
 * download, delete) and the viewer's upload form alike. Tag and interface here; `Files.ts`
 * implements it over a `FileStore` (`FileStore.ts`: the database by default).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { Problems } from "trellis/contract"
import type { PageRecord } from "./Domain.ts"
import type { InvalidPage, PageForbidden } from "./Errors.ts"
import type { Viewer } from "./Viewers.ts"

/** A file on the wire (seed 003's `GET /v1/pages/:id/files` entry). */
export interface PageFile {
  readonly id: string
  readonly filename: string
  readonly mimeType: string
  readonly sizeBytes: number
  readonly uploadedBy: string
  readonly createdAt: string
}

export class Files extends Context.Service<Files, {
  readonly list: (page: PageRecord) => Effect.Effect<ReadonlyArray<PageFile>>
  /**
   * Stores an upload in one step (the viewer's form): the same size and type limits and the same
   * `file.uploaded` event as presign + PUT + complete. Too large is a 413 (`PayloadTooLarge`).
   */
  readonly upload: (
    page: PageRecord,
    viewer: Viewer,
    file: { readonly filename: string; readonly mimeType: string; readonly bytes: Uint8Array }
  ) => Effect.Effect<PageFile, InvalidPage | PageForbidden | Problems.PayloadTooLarge>
  /** The URL the viewer links for a download (`/v1/pages/:id/files/:fileId/download`). */
  readonly downloadPath: (page: PageRecord, fileId: string) => string
}>()("pages/Files") {}
