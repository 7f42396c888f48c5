From: dmarc-noreply@mail-c.example
To: dmarc-rua@example.com
Subject: Report Domain: example.org Submitter: mail-c.example Report-ID: c-77102
Date: Sun, 27 Sep 2026 01:00:00 +0000
Message-ID: <c-77102@mail-c.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="c2"

--c2
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

This is an aggregate report from dmarc-noreply@mail-c.example.

--c2
Content-Type: application/gzip; name="mail-c.example!example.org!1790380800!1790467199.xml.gz"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="mail-c.example!example.org!1790380800!1790467199.xml.gz"

H4sIAAAAAAAAA31TTU/jMBC98yuq3hsnXZa20mCQVuK2lxWcI9eetBb+ku2w8O8Z54OmQuISzzzP
vHnPjuHh3ZrVG8akvbtfN1W9XqGTXml3ul+/PD9t9usHfgMdojoK+cphquVUCmxOIGLwMbcWs1Ai
Cw4+nlonLPK/QpvVP5SoqXj1B9jXDqClPa6siHLjPFGYj8cCbWSF78IGg8DGmplfKy43u11Tb4Fd
IKCR2EbhTkR6xJMmdbtD/Wtf72sSOSKATg3w7d2uORyImXJgy1b2zUXwRsuPNvRHo9MZyyhPghyf
9FVkhjhGDIR61ZZHYGMAIoVuSMsKgTvvyFHgkOaYAggy86boLAF9v42MKH0sq/9Prb6PElsdeHPY
VnW1rbbUekFB+t4R4W9gYzR7wDdhejJbPOgUfNK53NyoY4nAID6IlAgffBT5HV1D0dtdJC4Y2aBN
K3RZd5p+Cg5nFApj20Vvr09ruQHsqkf0+dxGTL3JadLx44EnNCizj5wCEjdnMFJMHqZkaeZH0qk+
ow0Yo48LhtH+tUo2Xw/7eiM3n1syYVRWAwAA

--c2--
