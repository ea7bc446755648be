"""Bulk imports of officials, enrolments and sign-in sheets from CSV and XLSX files.

reading.py turns an uploaded file into rows (with every size, type and zip-bomb check),
columns.py names the columns of each import in English and Khmer, matching.py finds the
official a row means, plan.py builds the row-by-row preview stored on an ImportBatch, and
apply.py writes exactly that preview in one transaction through participants.services.
"""
