from gongzhi.cli import main

main()
