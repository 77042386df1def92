"""Whole-system tests: the gateway as a real process or as one app with its workers, from a
signed webhook to the case system and back to the resident. From the parent conftest they use
``database_url``, the fake CRM (``crm``) and the Twilio token the webhooks are signed with."""
