#include "config.h"
#include "tool.h"
int tool_cmd_status(int argc, char **argv) { (void)argc; (void)argv; return 2; }
