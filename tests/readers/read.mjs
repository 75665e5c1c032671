// Opens each file given on the command line in readers that did not write it, and prints one
// JSON line per file and reader: {"file", "reader", "ok", "text" | "error", "warnings"}.
// Used by tests/integration/test_independent_readers.py; run with the machine's Node.js.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ExcelJS = require("exceljs");
const XLSX = require("xlsx");
const mammoth = require("mammoth");
const { OfficeParser } = require("officeparser");

async function excelJs(buffer) {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(buffer);
  const lines = [];
  workbook.eachSheet((sheet) => {
    lines.push(`# ${sheet.name}`);
    sheet.eachRow((row) => {
      const values = row.values.slice(1).map((v) =>
        v && typeof v === "object" ? (v.formula ? `=${v.formula}` : (v.richText ? v.richText.map((r) => r.text).join("") : JSON.stringify(v))) : v ?? "");
      lines.push(values.join("\t"));
    });
  });
  return { text: lines.join("\n"), warnings: [] };
}

async function sheetJs(buffer) {
  const workbook = XLSX.read(buffer, { type: "buffer" });
  const lines = [];
  for (const name of workbook.SheetNames) {
    lines.push(`# ${name}`);
    lines.push(XLSX.utils.sheet_to_csv(workbook.Sheets[name], { FS: "\t" }));
  }
  return { text: lines.join("\n"), warnings: [] };
}

async function mammothDocx(buffer) {
  const result = await mammoth.extractRawText({ buffer });
  return { text: result.value, warnings: result.messages.map((m) => `${m.type}: ${m.message}`) };
}

async function officeParser(buffer) {
  const ast = await OfficeParser.parseOffice(buffer, { ocr: false });
  const text = typeof ast.toText === "function" ? ast.toText() : JSON.stringify(ast.content);
  return { text, warnings: [] };
}

const READERS = {
  xlsx: { exceljs: excelJs, sheetjs: sheetJs },
  docx: { mammoth: mammothDocx },
  pptx: { officeparser: officeParser },
};

for (const file of process.argv.slice(2)) {
  const buffer = await readFile(file);
  const extension = file.split(".").pop().toLowerCase();
  for (const [reader, read] of Object.entries(READERS[extension] ?? {})) {
    try {
      const { text, warnings } = await read(buffer);
      console.log(JSON.stringify({ file, reader, ok: true, text, warnings }));
    } catch (error) {
      console.log(JSON.stringify({ file, reader, ok: false, error: String(error && error.stack || error) }));
    }
  }
}
