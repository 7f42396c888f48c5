# Hardened Exchange receive connectors: the settings mailauth audits. Run in the Exchange
# Management Shell, adapting server names and the relay clients' addresses; then export and audit:
#   Get-ReceiveConnector | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 receive-connectors.json
#   Get-ReceiveConnector | Get-ADPermission | Where-Object { $_.ExtendedRights -like "ms-Exch-SMTP-Accept-Any-Recipient" } | Select-Object @{n='Identity';e={"$($_.Identity)"}}, @{n='User';e={"$($_.User)"}}, @{n='ExtendedRights';e={"$($_.ExtendedRights)"}}, Deny, IsInherited | ConvertTo-Json -Depth 4 | Set-Content -Encoding UTF8 permissions.json
#   mailauth audit exchange --receive-connectors receive-connectors.json --permissions permissions.json
# receive-connectors-hardened.json and permissions-hardened.json beside this file are such an export.

$server = $env:COMPUTERNAME

# Internet-facing port 25: STARTTLS offered; BasicAuth only inside TLS; no version in the banner.
Set-ReceiveConnector "$server\Default Frontend $server" `
    -AuthMechanism Tls,Integrated,BasicAuth,BasicAuthRequireTLS,ExchangeServer `
    -Banner "220 mail.example.com ESMTP"

# Client submission on 587: TLS required before anything else.
Set-ReceiveConnector "$server\Client Frontend $server" `
    -AuthMechanism Tls,Integrated,BasicAuth,BasicAuthRequireTLS -RequireTLS $true

# Anonymous relay only for the application servers that need it, listed one by one.
New-ReceiveConnector -Name "Relay Apps" -Server $server -TransportRole FrontendTransport `
    -Usage Custom -Bindings 0.0.0.0:25 -RemoteIPRanges 192.0.2.10,192.0.2.11 `
    -PermissionGroups AnonymousUsers -AuthMechanism Tls
Get-ReceiveConnector "$server\Relay Apps" | Add-ADPermission -User "NT AUTHORITY\ANONYMOUS LOGON" `
    -ExtendedRights ms-Exch-SMTP-Accept-Any-Recipient
