"""Local development stack for the function app: development tools, never deployed.

Azure Functions Core Tools cannot be installed on our machines, so `make run` serves
`function_app.app`'s HTTP routes and timer triggers from the functions' own metadata, and runs
Azurite and a stand-in for ARM and the Video Indexer API beside it. `.funcignore` keeps this
package out of every deployment.
"""
