"""The gate every uploaded file passes before any parser sees it: type, zip, XML, macros, CSV."""
