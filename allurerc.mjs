// Allure 3 configuration for stagegate's report (npm `allure`, pinned in package.json).
// reports/html.py runs `allure generate <out/STAGE/allure-results> --config allurerc.mjs -o <tmp>`
// and copies the single self-contained index.html to out/STAGE/report.html.
// No import of "allure": a plain object keeps this file loadable from any working directory.
const reportName = process.env.STAGEGATE_REPORT_NAME ?? "stagegate";
// History across runs of one stage (reports/html.py sets these): out/<stage>/history.jsonl,
// bounded to the last STAGEGATE_HISTORY_LIMIT runs; a rebuild of an earlier run reads it only.
const history = process.env.STAGEGATE_HISTORY
  ? {
      historyPath: process.env.STAGEGATE_HISTORY,
      historyLimit: Number(process.env.STAGEGATE_HISTORY_LIMIT ?? "6"),
      appendHistory: process.env.STAGEGATE_APPEND_HISTORY !== "0",
    }
  : {};

export default {
  name: reportName,
  output: "./out/allure-report",
  ...history,
  plugins: {
    awesome: {
      options: {
        reportName,
        singleFile: true, // one HTML file that opens from disk (the CLI has no flag for it)
        groupBy: ["parentSuite", "suite", "subSuite"], // gate / conformance / load as top groups
        stepTreeExpansion: "expanded",
      },
    },
  },
};
