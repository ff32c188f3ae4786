/* Echoes stdin line by line ("got LINE") after printing "reading": a guest that blocks in a read. */
#include <stdio.h>
int main(void) { char b[100]; printf("reading\n"); fflush(stdout); while (fgets(b, sizeof b, stdin)) printf("got %s", b); return 0; }
