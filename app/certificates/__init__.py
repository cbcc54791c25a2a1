"""E-certificates (电子证照): holdings, presentations (亮证), verification, department issuance."""
