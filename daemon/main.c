/* placeholder: replaced by the daemon core */
int main(void)
{
	return 0;
}
