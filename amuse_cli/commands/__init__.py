"""One module per subcommand: parse options, load the recipe, call the library."""
