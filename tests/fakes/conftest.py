"""Not tests: the loopback stand-ins for remote services that the tests elsewhere start (the
city's CRM, Twilio's REST API, an SMTP relay). Nothing here uses the parent conftest."""
