"""Local development host for the function app: a development tool, never deployed.

Azure Functions Core Tools cannot be installed on our machines, so `make run` serves
`function_app.app`'s HTTP routes from the functions' own metadata and runs Azurite beside it.
`.funcignore` keeps this package out of every deployment.
"""
