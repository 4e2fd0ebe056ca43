/**
 * The viewer's stylesheet (served at `/p/assets/viewer.css`), a string constant so that the
 * single-file binary carries it. Mobile first: one column at 375 px, wider margins from 48rem;
 * text contrast at least 4.5:1 and a visible focus ring on every control.
 */
import { Asset } from "trellis/plugin"

export const viewerCss = Asset.text("text/css", `
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b2230; background: #f5f6f8; overflow-wrap: anywhere; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
a { color: #1a56b0; }
a:hover { color: #0f3d80; }
:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip:focus { left: .5rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .25rem 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
h2.block-title { font-size: 1rem; margin: 0 0 .5rem; }
.muted { color: #4d5668; }
.eyebrow { text-transform: uppercase; letter-spacing: .05em; font-size: .75rem; color: #4d5668; margin: 0; }
.summary { margin: 0 0 .5rem; }
.meta { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .4rem; font-size: .85rem; }
.badge, .tag { display: inline-block; padding: .1rem .5rem; border-radius: 999px; background: #e3e7ee; color: #1b2230; font-size: .8rem; }
.status-active { background: #dbeafe; color: #123d7a; }
.status-completed { background: #dcfce7; color: #14532d; }
.status-revoked, .status-expired { background: #fee2e2; color: #7f1d1d; }
.priority-high, .priority-urgent, .priority-critical { background: #fde68a; color: #713f12; }
.page-header { margin-bottom: 1rem; }
.block, .approval, .actions, .comments, .attachments, .group { background: #fff; border: 1px solid #d5dae3; border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
.group .block { border: 0; padding: .5rem 0; margin: 0; }
.group-title { font-size: 1.05rem; }
.md > :first-child { margin-top: 0; }
.md > :last-child { margin-bottom: 0; }
.md img, figure.image img { max-width: 100%; height: auto; }
.md pre, .code pre, .unknown pre { overflow-x: auto; }
.md table { border-collapse: collapse; }
.md th, .md td { border: 1px solid #d5dae3; padding: .25rem .5rem; }
.kv { display: grid; grid-template-columns: 1fr; gap: .25rem; margin: 0; }
.kv > div { display: grid; grid-template-columns: minmax(6rem, 40%) 1fr; gap: .5rem; padding: .25rem 0; border-bottom: 1px solid #eceff4; }
.kv dt { font-weight: 600; color: #374151; }
.kv dd { margin: 0; }
.metrics { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: .75rem; }
.metric { border: 1px solid #e3e7ee; border-radius: .5rem; padding: .5rem .75rem; }
.metric-label { font-size: .85rem; color: #4d5668; }
.metric-value { font-size: 1.5rem; font-weight: 700; }
.unit { font-size: .9rem; font-weight: 400; }
.trend.up { color: #166534; }
.trend.down { color: #991b1b; }
.trend.flat { color: #4d5668; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table.table { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.table th, table.table td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
table.table th { background: #f1f3f7; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
.chart-figure { margin: 0; }
svg.chart { width: 100%; max-width: 32rem; height: auto; display: block; }
svg.chart .axis { stroke: #6b7280; stroke-width: 1; }
svg.chart text { font-size: 10px; fill: #374151; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .75rem; font-size: .85rem; }
.swatch { display: inline-block; width: .75rem; height: .75rem; margin-right: .25rem; vertical-align: middle; }
.sw0 { background: #1f5fbf; } .sw1 { background: #c2410c; } .sw2 { background: #15803d; } .sw3 { background: #7e22ce; }
.sw4 { background: #b91c1c; } .sw5 { background: #0e7490; } .sw6 { background: #a16207; } .sw7 { background: #be185d; }
.chart-data summary { cursor: pointer; font-size: .85rem; color: #1a56b0; }
.callout { border-left: 4px solid #1a56b0; background: #eff5ff; padding: .75rem 1rem; border-radius: .25rem; margin: 0; }
.callout-label { display: block; margin-bottom: .25rem; }
.callout-success { border-color: #15803d; background: #effaf2; }
.callout-warning { border-color: #b45309; background: #fff8eb; }
.callout-error { border-color: #b91c1c; background: #fef1f1; }
.callout-tip { border-color: #7e22ce; background: #f7f0ff; }
.block-callout { padding: 0; border: 0; background: transparent; }
.code, .unknown { position: relative; }
.code-lang { font-size: .75rem; color: #4d5668; text-transform: lowercase; margin-bottom: .25rem; }
pre { background: #1e2430; color: #f1f3f7; padding: .75rem; border-radius: .35rem; font: .85rem/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.md code { background: #eef0f4; padding: 0 .2rem; border-radius: .2rem; }
.md pre code { background: transparent; padding: 0; }
figure.image { margin: 0; }
figcaption { font-size: .85rem; color: #4d5668; }
.stepper { list-style: none; counter-reset: step; padding: 0; margin: 0; }
.stepper .step { counter-increment: step; position: relative; padding: 0 0 .75rem 2.25rem; }
.stepper .step::before { content: counter(step); position: absolute; left: 0; top: 0; width: 1.6rem; height: 1.6rem; border-radius: 50%; background: #e3e7ee; color: #1b2230; text-align: center; line-height: 1.6rem; font-size: .8rem; font-weight: 700; }
.stepper .step-completed::before, .stepper .step-done::before { background: #15803d; color: #fff; }
.stepper .step-current::before, .stepper .step-in_progress::before, .stepper .step-active::before { background: #1a56b0; color: #fff; }
.stepper .step-failed::before, .stepper .step-error::before { background: #b91c1c; color: #fff; }
.step-status { font-size: .85rem; color: #4d5668; }
.step-desc { font-size: .9rem; color: #374151; }
.columns { display: grid; grid-template-columns: 1fr; gap: 1rem; }
.column > .block { border: 0; padding: 0; margin: 0 0 .75rem; }
details.collapsible > summary, details.tab > summary { cursor: pointer; font-weight: 600; }
.collapsible-body, .tab-body { padding-top: .5rem; }
.tabs details.tab { border-top: 1px solid #e3e7ee; padding: .5rem 0; }
fieldset.form-block { border: 0; padding: 0; margin: 0; min-width: 0; }
fieldset.form-block legend { font-weight: 600; padding: 0; margin-bottom: .5rem; }
.field { margin-bottom: .75rem; display: flex; flex-direction: column; gap: .25rem; }
.field-check { flex-direction: row-reverse; justify-content: flex-end; align-items: center; gap: .5rem; }
.help { font-size: .85rem; color: #4d5668; }
input[type=text], input[type=email], input[type=number], input[type=date], input[type=url], input[type=tel], input[type=time], input[type=datetime-local], select, textarea {
  font: inherit; width: 100%; padding: .5rem; border: 1px solid #8a93a5; border-radius: .35rem; background: #fff; color: #1b2230; }
input[type=file] { font: inherit; max-width: 100%; }
label { font-weight: 600; font-size: .9rem; display: block; }
.btn, button { font: inherit; font-weight: 600; padding: .6rem 1rem; border-radius: .4rem; border: 1px solid #6b7280; background: #fff; color: #1b2230; cursor: pointer; min-height: 44px; }
.btn-primary, .btn-success { background: #1a56b0; border-color: #1a56b0; color: #fff; }
.btn-danger { background: #b91c1c; border-color: #b91c1c; color: #fff; }
.btn-warning { background: #92400e; border-color: #92400e; color: #fff; }
.buttons { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
.decide textarea, .comment-form textarea { margin: .25rem 0 .5rem; }
.comment-form select { margin: .25rem 0 .5rem; }
.upload { display: flex; flex-direction: column; gap: .5rem; margin-top: .5rem; }
.file-list { padding-left: 1.2rem; }
.thread, .replies { list-style: none; padding: 0; margin: 0; }
.replies { margin-left: 1rem; padding-left: .75rem; border-left: 2px solid #e3e7ee; }
.comment { padding: .5rem 0; border-bottom: 1px solid #eceff4; }
.comment-body { white-space: pre-wrap; }
.chain { padding-left: 1.2rem; }
.chain-step { margin-bottom: .5rem; }
.chain-completed .step-status { color: #166534; }
.chain-rejected .step-status { color: #991b1b; }
.decisions { font-size: .9rem; }
.flash { padding: .6rem .9rem; border-radius: .35rem; }
.flash-ok { background: #dcfce7; color: #14532d; }
.flash-error { background: #fee2e2; color: #7f1d1d; }
.who { font-size: .85rem; color: #4d5668; }
.message { max-width: 36rem; }
.login { display: flex; flex-direction: column; gap: .5rem; }
.inbox { list-style: none; padding: 0; }
.inbox-entry { background: #fff; border: 1px solid #d5dae3; border-radius: .5rem; padding: .75rem; margin-bottom: .5rem; }
.inbox-unread a { font-weight: 700; }
hr { border: 0; border-top: 1px solid #d5dae3; margin: 0; }
.block-divider { padding: 0; border: 0; background: transparent; }
.block-comments { font-size: .8rem; display: inline-block; margin-top: .5rem; }
.live { font-size: .8rem; color: #4d5668; }
@media (min-width: 48rem) {
  main { padding: 2rem; }
  h1 { font-size: 1.9rem; }
  .columns { grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); }
  .upload { flex-direction: row; align-items: center; flex-wrap: wrap; }
  .login { flex-direction: column; }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto !important; } }
`)
