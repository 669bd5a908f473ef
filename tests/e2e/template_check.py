"""Reads an import template the way Excel users' tools do (openpyxl) and, optionally, fills it.

    python3 template_check.py TEMPLATE.xlsx                # prints JSON: sheets, validations
    python3 template_check.py TEMPLATE.xlsx OUT.xlsx ROWS  # ROWS: JSON list of {header: value}

The printed JSON lists each sheet's name and state, the header row of the first sheet, its
frozen cell, and every data validation with its type, range, first formula and, for a list
that points at a range of another sheet, the values of that range.
"""
import json
import sys

import openpyxl

path = sys.argv[1]
wb = openpyxl.load_workbook(path)
data = wb.worksheets[0]
if len(sys.argv) > 2:
    rows = json.loads(sys.argv[3])
    headers = [c.value for c in data[1]]
    for r, row in enumerate(rows, start=2):
        for c, h in enumerate(headers, start=1):
            key = h.rstrip("*") if h else h
            if key in row:
                data.cell(row=r, column=c, value=row[key])
    wb.save(sys.argv[2])
    sys.exit(0)


def resolve(formula):
    """The values of `=Sheet!$A$2:$A$9`, or the inline list `"a,b"`."""
    if formula is None:
        return None
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    ref = formula.lstrip("=")
    if "!" not in ref:
        return None
    sheet, cells = ref.split("!")
    ws = wb[sheet.strip("'")]
    return [c.value for row in ws[cells.replace("$", "")] for c in row]


out = {
    "sheets": [{"name": ws.title, "state": ws.sheet_state} for ws in wb.worksheets],
    "headers": [c.value for c in data[1]],
    "freeze": data.freeze_panes,
    "validations": [
        {
            "type": dv.type,
            "sqref": str(dv.sqref),
            "formula1": dv.formula1,
            "values": resolve(dv.formula1) if dv.type == "list" else None,
            "prompt": dv.prompt,
        }
        for dv in data.data_validations.dataValidation
    ],
}
print(json.dumps(out, ensure_ascii=False))
