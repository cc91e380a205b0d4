"""The inventory: units, devices and links, their files and their store."""
