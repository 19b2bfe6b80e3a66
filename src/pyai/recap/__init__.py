"""Recap: the record of what happened on a call, for the customer's webhook and CRM.

- :mod:`pyai.recap.packs`: what a recap holds per kind of call (outcomes, fields, CRM mapping);
- :mod:`pyai.recap.builder`: :func:`~pyai.recap.builder.build_recap`, embedded or LLM-written;
- :mod:`pyai.recap.salesforce`: :func:`~pyai.recap.salesforce.write_recap` to Salesforce;
- :mod:`pyai.recap.delivery`: the ``recap.completed`` webhook payload.

Kept import-free so that importing one part does not load the others (the Salesforce writer
needs no transcript rules, the API no HTTP client).
"""
