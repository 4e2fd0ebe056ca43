/**
 * A2UI v0.9 to Surflet blocks (seed 003, `POST /v1/publish/a2ui`): a pure translation, so the
 * route, a test and a future importer share one reading of the protocol. A2UI describes a
 * surface as a flat list of components that name their children by id (basic catalog:
 * `Text`, `Image`, `Icon`, `Row`, `Column`, `List`, `Card`, `Tabs`, `Modal`, `Divider`,
 * `Button`, `TextField`, `CheckBox`, `ChoicePicker`, `Slider`, `DateTimeInput`, ...); a page is
 * a list of blocks, so the tree is walked from its roots (the components nobody references,
 * in order) and each component becomes blocks, a page action or form fields.
 *
 * It never throws: whatever cannot be read (an unknown component, a missing child, a cycle, an
 * unresolved data binding) is left out with a warning naming `components[i]`; only the limit on
 * the number of components is the caller's 400. The table of the mapping is in the plugin README.
 *
 * Client-safe: no imports.
 */

/** A block as the translation builds it (the shape of `Domain.Block`). */
export interface TranslatedBlock {
  readonly type: string
  readonly title?: string
  readonly group?: string
  readonly tab?: string
  readonly data: Record<string, unknown>
}

/** A page action built from a `Button` (the shape of `Domain.Action`). */
export interface TranslatedAction {
  readonly action_id: string
  readonly label: string
  readonly style?: string
}

export interface A2uiTranslation {
  /** The body's `title`, else the first `h1` Text, else "Untitled". */
  readonly title: string
  readonly blocks: ReadonlyArray<TranslatedBlock>
  readonly actions: ReadonlyArray<TranslatedAction>
  readonly warnings: ReadonlyArray<string>
  /** The envelope's `surfaceId`, when given (kept in the page's metadata). */
  readonly surfaceId: string | undefined
}

/** Most components one request may carry (more is a 400 naming `components`). */
export const maxComponents = 5_000
/** Most components rendered (a shared child renders at each reference; this bounds a diamond-shaped tree). */
const maxRendered = 20_000
const maxDepth = 64

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/** Where the components are in a body, or why none: the route answers a 400 naming `field`. */
export type ComponentsOf =
  | { readonly _tag: "Found"; readonly components: ReadonlyArray<unknown>; readonly field: string }
  | { readonly _tag: "Missing"; readonly field: string; readonly constraint: string }

/**
 * Finds the component list: the body itself (a bare array), `updateComponents.components` (the
 * A2UI envelope), or `components` (a bare array beside the page fields).
 */
export const componentsOf = (body: unknown): ComponentsOf => {
  if (Array.isArray(body)) return { _tag: "Found", components: body, field: "" }
  if (!isObject(body)) return { _tag: "Missing", field: "body", constraint: "an A2UI envelope object or a component array" }
  if (body.updateComponents !== undefined) {
    const update = body.updateComponents
    if (!isObject(update)) return { _tag: "Missing", field: "updateComponents", constraint: "an object with `components`" }
    if (!Array.isArray(update.components)) {
      return { _tag: "Missing", field: "updateComponents.components", constraint: "an array of A2UI components" }
    }
    return { _tag: "Found", components: update.components, field: "updateComponents.components" }
  }
  if (Array.isArray(body.components)) return { _tag: "Found", components: body.components, field: "components" }
  return {
    _tag: "Missing",
    field: "updateComponents.components",
    constraint: "an A2UI envelope `{updateComponents: {surfaceId, components}}` or a component array"
  }
}

/** The data model: `dataModel` (an object), then each `updateDataModel` message (`{path?, value}`) applied in order. */
const dataModelOf = (body: unknown, warnings: Array<string>): unknown => {
  if (!isObject(body)) return undefined
  let model: unknown = isObject(body.dataModel) ? structuredClone(body.dataModel) : undefined
  const updates = body.updateDataModel === undefined
    ? []
    : Array.isArray(body.updateDataModel)
    ? body.updateDataModel
    : [body.updateDataModel]
  updates.forEach((update, index) => {
    const where = Array.isArray(body.updateDataModel) ? `updateDataModel[${index}]` : "updateDataModel"
    if (!isObject(update)) {
      warnings.push(`${where}: not an object (ignored)`)
      return
    }
    const path = typeof update.path === "string" ? update.path : "/"
    const segments = pointer(path)
    if (segments === undefined) {
      warnings.push(`${where}.path: "${path}" is not a JSON Pointer (ignored)`)
      return
    }
    if (segments.length === 0) {
      model = update.value === undefined ? undefined : structuredClone(update.value)
      return
    }
    if (!isObject(model)) model = {}
    let target = model as Json
    for (const segment of segments.slice(0, -1)) {
      if (!isObject(target[segment]) && !Array.isArray(target[segment])) target[segment] = {}
      target = target[segment] as Json
    }
    const last = segments[segments.length - 1]!
    if (update.value === undefined) delete target[last]
    else target[last] = structuredClone(update.value)
  })
  return model
}

/** A JSON Pointer's segments (`/a/b~1c` → `["a", "b/c"]`); `undefined` when it is not one. */
const pointer = (path: string): ReadonlyArray<string> | undefined => {
  if (path === "" || path === "/") return []
  if (!path.startsWith("/")) return undefined
  return path.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
}

const lookup = (model: unknown, segments: ReadonlyArray<string>): { readonly found: boolean; readonly value: unknown } => {
  let current = model
  for (const segment of segments) {
    if (Array.isArray(current) && /^\d+$/.test(segment) && Number(segment) < current.length) current = current[Number(segment)]
    else if (isObject(current) && Object.hasOwn(current, segment)) current = current[segment]
    else return { found: false, value: undefined }
  }
  return { found: true, value: current }
}

/** A component read from the list: its id, its name in the catalog and its properties. */
interface Component {
  readonly index: number
  readonly id: string
  readonly name: string
  readonly props: Json
}

const formTypes = new Set(["TextField", "CheckBox", "ChoicePicker", "Slider", "DateTimeInput"])

/** Translates an A2UI body (envelope, `{components}` or a bare array) to blocks, actions and warnings. */
export const translate = (body: unknown): A2uiTranslation => {
  const warnings: Array<string> = []
  const found = componentsOf(body)
  const list = found._tag === "Found" ? found.components.slice(0, maxComponents) : []
  const field = found._tag === "Found" && found.field !== "" ? found.field : "components"
  const model = dataModelOf(body, warnings)
  const surfaceId = isObject(body) && isObject(body.updateComponents) && typeof body.updateComponents.surfaceId === "string"
    ? body.updateComponents.surfaceId
    : undefined

  // Read the flat list: a later definition of an id replaces an earlier one (as updateComponents does).
  const byId = new Map<string, Component>()
  const order: Array<string> = []
  list.forEach((raw, index) => {
    const where = `${field}[${index}]`
    if (!isObject(raw)) return void warnings.push(`${where}: not an object (skipped)`)
    if (typeof raw.id !== "string" || raw.id === "") return void warnings.push(`${where}.id: missing (skipped)`)
    let name: string | undefined
    let props: Json = raw
    if (typeof raw.component === "string") name = raw.component
    else if (isObject(raw.component) && Object.keys(raw.component).length === 1) {
      // The v0.8 shape (`component: {Text: {...}}`), still read.
      const [key] = Object.keys(raw.component)
      const inner = raw.component[key!]
      name = key!
      props = isObject(inner) ? { ...inner, id: raw.id, weight: raw.weight ?? inner.weight } : { id: raw.id }
    }
    if (name === undefined) return void warnings.push(`${where}.component: missing (skipped)`)
    if (byId.has(raw.id)) warnings.push(`${where}: id "${raw.id}" is defined again (the later definition is used)`)
    else order.push(raw.id)
    byId.set(raw.id, { index, id: raw.id, name, props })
  })

  // Roots: the components nobody references, in list order.
  const referenced = new Set<string>()
  for (const component of byId.values()) for (const id of referencesOf(component.name, component.props)) referenced.add(id)
  let roots = order.filter((id) => !referenced.has(id))
  if (roots.length === 0 && order.length > 0) {
    warnings.push(`${field}: every component is referenced by another (a cycle); starting from ${byId.has("root") ? "\"root\"" : "the first component"}`)
    roots = [byId.has("root") ? "root" : order[0]!]
  }

  const actions: Array<TranslatedAction> = []
  const actionIds = new Set<string>()
  let rendered = 0
  let truncated = false
  let firstHeading: string | undefined

  const warn = (component: Component, message: string) => warnings.push(`${field}[${component.index}] (${component.id}): ${message}`)

  /** A dynamic value: a literal, or `{path}` resolved against the data model (relative paths against `scope`). */
  const resolve = (component: Component, key: string, value: unknown, scope: string): unknown => {
    if (!isObject(value)) return value
    if (typeof value.path === "string") {
      const absolute = value.path.startsWith("/") ? value.path : `${scope.replace(/\/$/, "")}/${value.path}`
      const segments = pointer(absolute)
      const hit = segments === undefined || model === undefined ? { found: false, value: undefined } : lookup(model, segments)
      if (!hit.found) {
        warn(component, `${key}: data binding "${value.path}" has no value in the data model`)
        return undefined
      }
      return hit.value
    }
    if (typeof value.call === "string") {
      warn(component, `${key}: function call "${value.call}" is evaluated by A2UI clients only (left out)`)
      return undefined
    }
    return value
  }
  const text = (component: Component, key: string, scope: string): string | undefined => {
    const value = resolve(component, key, component.props[key], scope)
    if (value === undefined || value === null) return undefined
    if (typeof value === "string") return value
    if (typeof value === "number" || typeof value === "boolean") return String(value)
    warn(component, `${key}: not a string`)
    return undefined
  }

  /** The ids a ChildList names, each with the data scope it renders in (templates repeat per item). */
  const childrenOf = (component: Component, scope: string): ReadonlyArray<{ readonly id: string; readonly scope: string }> => {
    const children = isObject(component.props.children) && Array.isArray(component.props.children.explicitList)
      ? component.props.children.explicitList
      : component.props.children
    if (children === undefined) return []
    if (Array.isArray(children)) {
      return children.flatMap((id, i) => {
        if (typeof id === "string") return [{ id, scope }]
        warn(component, `children[${i}]: not a component id (skipped)`)
        return []
      })
    }
    const template = isObject(children) && isObject(children.template) ? children.template : children
    if (isObject(template) && typeof template.componentId === "string" && typeof (template.path ?? template.dataBinding) === "string") {
      const path = String(template.path ?? template.dataBinding)
      const absolute = path.startsWith("/") ? path : `${scope.replace(/\/$/, "")}/${path}`
      const segments = pointer(absolute)
      const hit = segments === undefined || model === undefined ? { found: false, value: undefined } : lookup(model, segments)
      if (!hit.found || !Array.isArray(hit.value)) {
        warn(component, `children: template path "${path}" is not a list in the data model`)
        return []
      }
      const componentId = template.componentId
      return hit.value.map((_, i) => ({ id: componentId, scope: `${absolute.replace(/\/$/, "")}/${i}` }))
    }
    warn(component, "children: neither a list of ids nor a template (skipped)")
    return []
  }

  const childId = (component: Component, key: string): string | undefined => {
    const value = component.props[key]
    if (value === undefined) return undefined
    if (typeof value === "string") return value
    warn(component, `${key}: not a component id`)
    return undefined
  }

  /** Blocks of a component (and the actions and form fields it adds on the way). */
  const render = (id: string, scope: string, path: ReadonlyArray<string>, parent: Component | undefined): Array<TranslatedBlock> => {
    const component = byId.get(id)
    if (component === undefined) {
      if (parent !== undefined) warn(parent, `child "${id}" is not defined (skipped)`)
      else warnings.push(`${field}: root "${id}" is not defined`)
      return []
    }
    if (path.includes(id)) {
      warn(component, `cycle: ${[...path, id].join(" → ")} (the repeated reference is skipped)`)
      return []
    }
    if (path.length >= maxDepth) {
      warn(component, `nested deeper than ${maxDepth} components (skipped)`)
      return []
    }
    if (rendered >= maxRendered) {
      if (!truncated) warnings.push(`${field}: more than ${maxRendered} rendered components (the rest is left out)`)
      truncated = true
      return []
    }
    rendered++
    const inner = [...path, id]
    const renderChildren = (children: ReadonlyArray<{ readonly id: string; readonly scope: string }>) =>
      withForms(children.map((child) => ({ child, component: byId.get(child.id) })), inner, component)
    const props = component.props

    switch (component.name) {
      case "Text": {
        const content = text(component, "text", scope)
        if (content === undefined) {
          if (props.text === undefined) warn(component, "text: missing (skipped)")
          return []
        }
        const variant = typeof props.variant === "string" ? props.variant : "body"
        const level = /^h([1-5])$/.exec(variant)
        if (level !== null) {
          if (level[1] === "1" && firstHeading === undefined) firstHeading = content
          return [{ type: "text", data: { content: `${"#".repeat(Number(level[1]))} ${content}` } }]
        }
        if (variant !== "body" && variant !== "caption") warn(component, `variant: "${variant}" is not a Text variant (shown as body)`)
        return [{ type: "text", data: { content } }]
      }
      case "Image": {
        const src = text(component, props.url !== undefined ? "url" : "src", scope)
        if (src === undefined) {
          warn(component, "url: missing (skipped)")
          return []
        }
        const alt = text(component, props.description !== undefined ? "description" : "alt", scope)
        return [{ type: "image", data: { src, ...(alt === undefined ? {} : { alt }) } }]
      }
      case "Icon": {
        const name = props.name
        if (isObject(name) && typeof name.svgPath === "string") {
          const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="${name.svgPath.replace(/[<>"&]/g, "")}"/></svg>`
          return [{ type: "image", data: { src: `data:image/svg+xml,${encodeURIComponent(svg)}`, alt: "icon" } }]
        }
        const iconName = text(component, "name", scope)
        warn(component, `icon "${iconName ?? "?"}" has no image to show (skipped)`)
        return []
      }
      case "Video":
      case "AudioPlayer": {
        const url = text(component, "url", scope)
        if (url === undefined) {
          warn(component, "url: missing (skipped)")
          return []
        }
        const label = text(component, "description", scope) ?? (component.name === "Video" ? "Video" : "Audio")
        return [{ type: "text", data: { content: `[${label.replace(/[[\]]/g, "")}](${url})` } }]
      }
      case "Divider":
        return [{ type: "divider", data: {} }]
      case "Column":
        return renderChildren(childrenOf(component, scope))
      case "Row": {
        const columns = childrenOf(component, scope).flatMap(({ id: child, scope: childScope }) => {
          const blocks = render(child, childScope, inner, component)
          if (blocks.length === 0) return []
          const childProps = byId.get(child)?.props
          const weight = typeof childProps?.weight === "number" && childProps.weight > 0 ? childProps.weight : 1
          return [{ weight, blocks }]
        })
        if (columns.length === 0) return []
        if (columns.length === 1) return columns[0]!.blocks
        return [{ type: "columns", data: { columns } }]
      }
      case "List": {
        const blocks = renderChildren(childrenOf(component, scope))
        const plain = blocks.every((block) =>
          block.type === "text" && block.title === undefined && typeof block.data.content === "string" &&
          !block.data.content.includes("\n") && !block.data.content.startsWith("#")
        )
        if (blocks.length > 0 && plain) {
          return [{ type: "text", data: { content: blocks.map((block) => `- ${String(block.data.content)}`).join("\n") } }]
        }
        return blocks
      }
      case "Card": {
        const child = childId(component, "child")
        const blocks = child === undefined
          ? renderChildren(childrenOf(component, scope))
          : render(child, scope, inner, component)
        return blocks.map((block) => block.group === undefined ? { ...block, group: component.id } : block)
      }
      case "Tabs": {
        if (!Array.isArray(props.tabs)) {
          warn(component, "tabs: not a list (skipped)")
          return []
        }
        return props.tabs.flatMap((tab, i) => {
          if (!isObject(tab) || typeof tab.child !== "string") {
            warn(component, `tabs[${i}]: needs a title and a child id (skipped)`)
            return []
          }
          const title = text({ ...component, props: tab }, "title", scope) ?? `Tab ${i + 1}`
          return render(tab.child, scope, inner, component).map((block) => ({ ...block, tab: title }))
        })
      }
      case "Modal": {
        const content = childId(component, "content")
        const trigger = childId(component, "trigger")
        const blocks = content === undefined ? [] : render(content, scope, inner, component)
        if (content === undefined) warn(component, "content: missing")
        const triggerComponent = trigger === undefined ? undefined : byId.get(trigger)
        const title = triggerComponent === undefined ? undefined : labelOf(triggerComponent, scope, inner)
        return [{ type: "collapsible", ...(title === undefined ? {} : { title }), data: { blocks, open: false } }]
      }
      case "Button": {
        const action = isObject(props.action) ? props.action : undefined
        const event = action !== undefined && isObject(action.event) ? action.event : undefined
        if (action !== undefined && event === undefined) {
          warn(component, "action: a client-side function call has no page action (skipped)")
          return []
        }
        const name = event !== undefined && typeof event.name === "string" && event.name !== "" ? event.name : undefined
        const actionId = name ?? component.id
        if (actionIds.has(actionId)) {
          warn(component, `action "${actionId}" is already a page action (skipped)`)
          return []
        }
        const label = labelOf(component, scope, inner) ?? actionId
        actionIds.add(actionId)
        actions.push({ action_id: actionId, label, ...(props.variant === "primary" ? { style: "primary" } : {}) })
        return []
      }
      default:
        if (formTypes.has(component.name)) return withForms([{ child: { id, scope }, component }], path, parent)
        warn(component, `unknown component "${component.name}" (skipped)`)
        return []
    }
  }

  /** A button's or trigger's label: its child Text (or a label property). */
  const labelOf = (component: Component, scope: string, path: ReadonlyArray<string>): string | undefined => {
    if (component.name === "Text") return text(component, "text", scope)
    const direct = typeof component.props.label === "string" ? component.props.label : undefined
    if (direct !== undefined) return direct
    const child = typeof component.props.child === "string" ? byId.get(component.props.child) : undefined
    if (child === undefined || path.includes(child.id) || child.id === component.id) return undefined
    if (child.name === "Text") return text(child, "text", scope)
    if (child.name === "Icon") return text(child, "name", scope)
    return undefined
  }

  /** Renders siblings in order; consecutive input components become one `form` block. */
  const withForms = (
    children: ReadonlyArray<{ readonly child: { readonly id: string; readonly scope: string }; readonly component: Component | undefined }>,
    path: ReadonlyArray<string>,
    parent: Component | undefined
  ): Array<TranslatedBlock> => {
    const out: Array<TranslatedBlock> = []
    let fields: Array<Json> | undefined
    for (const { child, component } of children) {
      if (component !== undefined && formTypes.has(component.name) && !path.includes(component.id)) {
        const field = formField(component, child.scope)
        if (fields === undefined) {
          fields = []
          out.push({ type: "form", data: { fields } })
        }
        if (fields.some((existing) => existing.name === field.name)) {
          warn(component, `field name "${String(field.name)}" is used twice in one form (skipped)`)
        } else fields.push(field)
        continue
      }
      fields = undefined
      out.push(...render(child.id, child.scope, path, parent))
    }
    return out
  }

  const formField = (component: Component, scope: string): Json => {
    const props = component.props
    const binding = isObject(props.value) && typeof props.value.path === "string" ? props.value.path : undefined
    const name = binding !== undefined ? (binding.split("/").filter((part) => part !== "").pop() ?? component.id) : component.id
    const label = text(component, "label", scope) ?? name
    const required = Array.isArray(props.checks) &&
      props.checks.some((check) => isObject(check) && check.call === "required")
    const field: Json = { name, label, type: "text", required }
    switch (component.name) {
      case "TextField": {
        const variant = typeof props.variant === "string" ? props.variant : "shortText"
        if (variant === "longText") field.type = "textarea"
        else if (variant === "number") field.type = "number"
        else if (variant === "obscured") warn(component, "variant: obscured input is shown as plain text on a page")
        break
      }
      case "CheckBox":
        field.type = "checkbox"
        break
      case "Slider":
        field.type = "number"
        break
      case "DateTimeInput":
        if (props.enableDate === true || props.enableTime !== true) field.type = "date"
        else warn(component, "a time-only input is a text field on a page")
        if (props.enableDate === true && props.enableTime === true) warn(component, "date and time: the page asks for the date only")
        break
      case "ChoicePicker": {
        field.type = "select"
        const options = Array.isArray(props.options) ? props.options : []
        field.options = options.flatMap((option, i) => {
          if (!isObject(option) || typeof option.value !== "string") {
            warn(component, `options[${i}]: needs a value (skipped)`)
            return []
          }
          return [option.value]
        })
        if (props.variant === "multipleSelection") warn(component, "multiple selection: the page's select takes one option")
        break
      }
    }
    return field
  }

  const blocks = withForms(roots.map((id) => ({ child: { id, scope: "/" }, component: byId.get(id) })), [], undefined)
  const bodyTitle = isObject(body) && typeof body.title === "string" && body.title.trim() !== "" ? body.title : undefined
  return { title: bodyTitle ?? firstHeading ?? "Untitled", blocks, actions, warnings, surfaceId }
}

/** The ids a component's properties reference (children, child, tabs, a modal's trigger and content, a template). */
const referencesOf = (name: string, props: Json): ReadonlyArray<string> => {
  const ids: Array<string> = []
  const children = isObject(props.children) && Array.isArray(props.children.explicitList) ? props.children.explicitList : props.children
  if (Array.isArray(children)) for (const id of children) if (typeof id === "string") ids.push(id)
  const template = isObject(children) && isObject(children.template) ? children.template : children
  if (isObject(template) && typeof template.componentId === "string") ids.push(template.componentId)
  const keys = name === "Modal" ? ["trigger", "content"] : ["child"]
  for (const key of keys) if (typeof props[key] === "string") ids.push(props[key])
  if (Array.isArray(props.tabs)) for (const tab of props.tabs) if (isObject(tab) && typeof tab.child === "string") ids.push(tab.child)
  return ids
}
