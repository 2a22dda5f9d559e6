"""Bill images: find every bill in a printed batch PDF, split it, send the images.

- ``template``  where the account number is printed (TOML, validated) — docs/bill-templates.md
- ``geometry``  "as displayed" regions ↔ PDFium's user space (crop box, rotation)
- ``indexer``   region text of every page (process pool), grouped into bills
- ``split``     one PDF per bill, named from the invoice file, written all or nothing
- ``send``      the split bills through the journaled transfer service, delivery check
- ``review``    the rows the Bill Images tab lists
- ``authoring`` template drawing without Qt (words, live match, pattern suggestion)
- ``service``   which template / naming a profile uses, invoice file, sandbox batch
"""
